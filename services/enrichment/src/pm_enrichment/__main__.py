from pm_enrichment.app import definition
from pm_platform.service import main

main(definition())

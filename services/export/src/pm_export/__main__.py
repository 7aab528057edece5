from pm_export.app import definition
from pm_platform.service import main

main(definition())

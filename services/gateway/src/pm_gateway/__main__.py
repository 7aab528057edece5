from pm_gateway.app import definition
from pm_platform.service import main

main(definition())

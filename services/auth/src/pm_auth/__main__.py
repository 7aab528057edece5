from pm_auth.app import definition
from pm_platform.service import main

main(definition())

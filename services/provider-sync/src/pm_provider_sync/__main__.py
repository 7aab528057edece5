from pm_platform.service import main
from pm_provider_sync.app import definition

main(definition())

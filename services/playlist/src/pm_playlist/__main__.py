from pm_platform.service import main
from pm_playlist.app import definition

main(definition())

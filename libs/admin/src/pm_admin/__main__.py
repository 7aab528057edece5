from pm_admin.cli import main

main()

from pm_contracts.generate import main

raise SystemExit(main())

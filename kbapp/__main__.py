from kbapp.cli import main

raise SystemExit(main())

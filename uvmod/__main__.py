import sys

from uvmod.cli import main

sys.exit(main())

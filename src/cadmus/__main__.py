import sys

from cadmus.cli import main

sys.exit(main())

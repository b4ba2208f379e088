"""``python -m ecs_emulator serve ...`` is the same as the ``ecs-emulator`` console script."""

import sys

from .cli import main

sys.exit(main())

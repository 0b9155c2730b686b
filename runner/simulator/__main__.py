from .main import main

raise SystemExit(main(prog="python -m runner.simulator"))

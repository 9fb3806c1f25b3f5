import sys

from elastic_inference_tools.cli import main

sys.exit(main(["simulate", *sys.argv[1:]]))

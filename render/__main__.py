import sys

from elastic_inference_tools.cli import main

_args = sys.argv[1:]
sys.exit(main(_args if _args[:1] == ["diff"] else ["render", *_args]))

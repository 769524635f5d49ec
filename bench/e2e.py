"""End-to-end benchmark against ONNX Runtime, PyTorch, OpenVINO and DeepSparse.

The implementation is :mod:`tvm_blocksparse.benchmark` (also ``tvm-blocksparse bench``); see its
docstring or ``--help``. Example (issue 6's bar run, ~30 min on 2 cores)::

    .venv/bin/python bench/e2e.py --threads 1 --json bench/results/e2e_1t.json --plot bench/results/e2e_1t.png
"""

import sys

from tvm_blocksparse.benchmark import main

if __name__ == "__main__":
    sys.exit(main())

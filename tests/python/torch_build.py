"""The reference PyTorch's version and the BLAS its build settings name (BLAS_INFO).

  torch_build.py     prints "<torch version without a local suffix> <BLAS_INFO>"
"""
import re

import torch

match = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
print(torch.__version__.split("+")[0], match.group(1) if match else "unknown")

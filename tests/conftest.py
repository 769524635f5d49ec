import platform

import pytest

from tvm_blocksparse.target import host_has_avx512, host_has_vnni

IS_X86 = platform.machine() in ("x86_64", "AMD64", "amd64")

requires_vnni = pytest.mark.skipif(
    not (IS_X86 and host_has_vnni()), reason="executing INT8 kernels needs AVX-512 VNNI on this CPU"
)
requires_avx512 = pytest.mark.skipif(
    not (IS_X86 and host_has_avx512()), reason="executing FP32 kernels needs AVX-512F on this CPU"
)
requires_x86 = pytest.mark.skipif(not IS_X86, reason="x86 code generation checks")

"""Relax passes of tvm-blocksparse (installed as ``tvm_blocksparse.relay_passes``).

The folder keeps the design card's name ``relay_passes``; TVM 0.27 has no Relay, so these are
Relax passes (Relay's successor). The sparsify pass lands with the pipeline issue.
"""

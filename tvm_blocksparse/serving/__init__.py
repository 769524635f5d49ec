"""Serving saved text pipelines: an HTTP server (``tvm-blocksparse serve``) with dynamic batching,
multi-instance worker processes, back-pressure and Prometheus metrics; the ``serve`` extra
(starlette, uvicorn).

    from tvm_blocksparse.serving import Server, ServerConfig, serve
    serve({"minilm": "minilm_pipe/"}, ServerConfig(instances=2), port=8000)
"""

from tvm_blocksparse.serving.server import Server, ServerConfig, parse_models, serve

__all__ = ["Server", "ServerConfig", "parse_models", "serve"]

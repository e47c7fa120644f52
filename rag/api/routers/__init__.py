"""One ``APIRouter`` per resource: ``ask`` (+ SSE stream), ``documents``, ``openai`` (``/v1``), ``health``."""

"""gunicorn's sync worker, answering what gunicorn refuses by itself in the service's JSON error shape.

Some requests never reach the app: a header over ``limit_request_field_size``, a request line over
``limit_request_line``, conflicting lengths, an unknown transfer coding. gunicorn decides the status and
writes the answer with ``gunicorn.util.write_error``, as an HTML page. This worker keeps gunicorn's
decision and replaces only that writer, so every answer a client sees has one shape (service/errors.py).
"""

from __future__ import annotations

import json
from http import HTTPStatus

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

from .errors import code_for

MAX_MESSAGE = 200  # gunicorn's message can quote the offending header or line


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    message = (mesg or reason)[:MAX_MESSAGE] if status_int != 500 else "internal error; the server log has the details"
    body = json.dumps({"error": {"code": code_for(status_int), "message": message}}).encode()
    try:
        reason = HTTPStatus(status_int).phrase  # gunicorn sends "501 Bad Request"
    except ValueError:
        pass
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorWorker(SyncWorker):
    def init_process(self) -> None:
        util.write_error = write_json_error  # this worker process only; gunicorn looks it up at each error
        super().init_process()

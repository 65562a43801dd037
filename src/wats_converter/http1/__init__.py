"""HTTP/1.1 to one server over asyncio: a bounded pool of keep-alive connections (`pool`) and
the parser of one answer (`framing`)."""

from wats_converter.http1.framing import HttpError, Response
from wats_converter.http1.pool import ConnectionPool, UntrustedCertificate

__all__ = ["ConnectionPool", "HttpError", "Response", "UntrustedCertificate"]

"""The local web page: `tnet serve` (or `serve()`) starts a small Flask server on 127.0.0.1.

The page has one input for the formula, one for the declarations and one for the variables to
differentiate by. It shows each derivative typeset as MathML made here on the server (browsers
render it natively; the page fetches nothing from the network), with a toggle between matrix and
bracket notation; the pictures of each derivation stage (SVG, zoomable); the numeric check; and
a URL that encodes the input (``/?f=...&decl=...&wrt=...&kind=...``), so a derivation can be
shared and reloaded; and the derivatives as standalone Python code for numpy, PyTorch or JAX
(`tnet.workbench.code`, a select chooses the backend, ``&code=torch`` in the URL), written for
the sizes of the numeric check's random values, with a copy button.

Flask, because it is the best-known small Python web framework: one dependency (with Werkzeug)
that serves a page and a JSON route in a few lines, with a development server that is enough for
one person on loopback. It is an optional extra (``pip install 'tnet-calculus[web]'``).

The server never evaluates user text as Python: the formula goes to the formula reader only, and
the exported code is only written (the server neither imports the backend library nor runs it). It
bounds the input length and the expression sizes (`tnet.workbench.Bounds`) and the time of each
derivation: every request runs in a child process that is stopped after `timeout` seconds.
Each bound hit is answered with a message that names it."""

from __future__ import annotations

import base64
import multiprocessing
from dataclasses import asdict
from importlib.resources import files
from typing import Any

from .errors import TnetError
from .notation.mathml_out import to_mathml
from .workbench import BACKENDS, KINDS, Bounds, check_all, code, code_sizes, derive, drawings, too_long

flask: Any
try:  # an optional extra: the rest of tnet works without it
    import flask
except ImportError:  # pragma: no cover - CI installs the extra
    flask = None

__all__ = ["DEFAULT_TIMEOUT", "create_app", "derivation_payload", "serve"]

DEFAULT_TIMEOUT = 20.0  # seconds one derivation may take
CHECK_TOLERANCE = 1e-5
#: the page: HTML, CSS and script in one file, nothing fetched from elsewhere
PAGE = files("tnet").joinpath("page.html").read_text(encoding="utf-8")


def derivation_payload(
    formula: str, declarations: str, wrt: str, kind: str, bounds: Bounds, backend: str = "numpy"
) -> dict[str, Any]:
    """What the page shows for one input, as JSON-ready data: {"ok": True, ...} or
    {"ok": False, "error": message}. "code" holds the derivatives' code for `backend`, or
    the reason there is none."""
    try:
        names = [n.strip() for n in wrt.split(",") if n.strip()]
        result = derive(formula, declarations, names, kind, bounds)
        check_all(result)
        pictures = drawings(result)
    except TnetError as err:
        return {"ok": False, "error": str(err)}
    sizes = code_sizes(result)
    exported: dict[str, Any] = {"backend": backend, "sizes": sizes}
    try:
        exported["source"] = code(result, backend, sizes)
    except TnetError as err:
        exported["error"] = str(err)
    worst = max((d.check or 0.0 for d in result.derivatives), default=0.0)
    return {
        "ok": True,
        "formula": formula,
        "declarations": result.formula.declarations(),
        "derivatives": [
            {
                "wrt": d.wrt,
                "title": d.title,
                "matrix": d.text("matrix"),
                "bracket": d.text("bracket"),
                "latex": d.text("latex"),
                "mathml_matrix": d.text("mathml"),
                "mathml_bracket": _mathml_bracket(d.expr),
                "check": d.check,
            }
            for d in result.derivatives
        ],
        "check": {"passed": worst <= CHECK_TOLERANCE, "largest_relative_error": worst, "tolerance": CHECK_TOLERANCE},
        "code": exported,
        "pictures": [
            {"wrt": var, "stage": stage, "src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()}
            for var, stage, svg in pictures
        ],
    }


def _mathml_bracket(e: Any) -> str:
    return to_mathml(e, "bracket")


def _worker(connection: Any, args: tuple) -> None:
    try:
        connection.send(derivation_payload(*args))
    except Exception as err:  # noqa: BLE001 - the child reports every failure to the server
        connection.send({"ok": False, "error": f"internal error: {type(err).__name__}: {err}"})
    finally:
        connection.close()


def _context() -> Any:
    """The way children are started: forkserver where there is one (a clean process, started
    once, that has imported tnet: forking the threaded server itself could copy a held lock),
    else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tnet.web"])
    return context


def _bounded(args: tuple, timeout: float) -> dict[str, Any]:
    """derivation_payload(*args) in a child process, stopped after `timeout` seconds."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_worker, args=(send, args), daemon=True)
    child.start()
    send.close()
    try:
        if receive.poll(timeout):
            return receive.recv()
        return {
            "ok": False,
            "error": f"the derivation took longer than {timeout:g} seconds, the limit; try a smaller formula",
        }
    except EOFError:
        return {"ok": False, "error": "the derivation stopped without an answer (out of memory?)"}
    finally:
        if child.is_alive():
            child.terminate()
        child.join(1)
        receive.close()


def create_app(bounds: Bounds | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """The Flask application: GET / (the page) and GET /api/derive?f=&decl=&wrt=&kind=&code=, which
    answers {"ok": true, ...} or {"ok": false, "error": message} (status 200: the browser logs
    no error for a formula that is wrong), and 400 or 413 for a request without a formula, with
    an unknown kind or backend (`code`, default numpy) or beyond the length bound."""
    if flask is None:
        raise TnetError("the web page needs Flask: pip install 'tnet-calculus[web]' (or pip install flask)")
    bounds = bounds or Bounds()
    app = flask.Flask("tnet.web")
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024

    def page() -> Any:
        return flask.Response(PAGE.replace("__BOUNDS__", flask.json.dumps(asdict(bounds))), mimetype="text/html")

    def api() -> Any:
        q = flask.request.args
        formula, decl, wrt, kind = q.get("f", ""), q.get("decl", ""), q.get("wrt", ""), q.get("kind", "gradient")
        backend = q.get("code", "numpy")
        for what, text in (("formula", formula), ("declarations", decl), ("variables", wrt)):
            if len(text) > bounds.max_text:
                message = too_long(what, len(text), bounds.max_text)
                return flask.jsonify({"ok": False, "error": message}), 413
        if not formula.strip():
            return flask.jsonify({"ok": False, "error": "type a formula, e.g. x'*A*x"}), 400
        if kind not in KINDS:
            return flask.jsonify({"ok": False, "error": f"unknown kind {kind!r} ({', '.join(KINDS)})"}), 400
        if backend not in BACKENDS:
            message = f"unknown backend {backend!r} for the code ({', '.join(BACKENDS)})"
            return flask.jsonify({"ok": False, "error": message}), 400
        payload = _bounded((formula, decl, wrt, kind, bounds, backend), timeout)
        return flask.jsonify(payload)  # a formula that cannot be derived is an answer too: {"ok": false}

    app.add_url_rule("/", "page", page, methods=["GET"])
    app.add_url_rule("/api/derive", "derive", api, methods=["GET"])
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Run the page's server until interrupted (loopback unless `host` says otherwise)."""
    try:
        app = create_app(timeout=timeout)
    except TnetError as err:
        print(f"tnet: {err}")
        return 2
    print(f"tnet: serving the page on http://{host}:{port}/ (Ctrl-C stops it)")
    app.run(host=host, port=port, threaded=True)
    return 0

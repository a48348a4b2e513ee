"""The local web page's server (tnet/web.py) through Flask's test client: the JSON answer of a
derivation (its values checked against numpy), and every bound: very long input, deep nesting, a
formula whose derivation would be huge, one that takes too long, unknown functions; each
answered with a clear message, and the server keeps answering."""

from __future__ import annotations

import inspect
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tnet
from tnet import cli, web
from tnet.notation import parse_matrix
from tnet.notation.formula_in import parse_formula
from tnet.web import create_app
from tnet.workbench import Bounds, random_values


@pytest.fixture(scope="module")
def client():
    return create_app(timeout=30).test_client()


def test_page_is_served_and_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for needed in ('id="f"', 'id="decl"', 'id="wrt"', "api/derive", 'id="code"', 'id="copy"', 'id="source"'):
        assert needed in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from the network


def test_a_derivation(client):
    answer = client.get("/api/derive", query_string={"f": "norm2(A*x - b)^2", "decl": "A: matrix m×n", "wrt": "x, A"})
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["ok"] and data["check"]["passed"]
    assert data["declarations"] == "A: matrix m×n; x: vector n; b: vector m"
    assert [d["wrt"] for d in data["derivatives"]] == ["x", "A"]
    f = parse_formula("norm2(A*x - b)^2", "A: matrix m×n")
    rng = np.random.default_rng(0)
    A, x, b = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=3)
    expected = {"x": 2 * A.T @ (A @ x - b), "A": 2 * np.outer(A @ x - b, x)}
    for d in data["derivatives"]:
        for notation in ("mathml_matrix", "mathml_bracket"):
            assert ET.fromstring(d[notation]).tag.endswith("math")
        got = tnet.evaluate(parse_matrix(d["matrix"], **f.variables), {"A": A, "x": x, "b": b}, allow_unknown=True)
        np.testing.assert_allclose(got, expected[d["wrt"]])
        assert d["check"] < 1e-6
    assert len(data["pictures"]) == 8
    assert all(p["src"].startswith("data:image/svg+xml;base64,") for p in data["pictures"])


@pytest.mark.parametrize(
    "query, status, message",
    [
        ({"f": "x" * 5000}, 413, "too long: the formula has 5000 characters; the limit is 2000"),
        ({"f": "x", "decl": "x: vector n;" * 500}, 413, "too long: the declarations have 6000 characters"),
        ({"f": "(" * 300 + "x" + ")" * 300}, 200, "nested more than 60 levels deep"),
        ({"f": "foo(x)"}, 200, "unknown function 'foo'"),
        ({"f": "A*x + y'"}, 200, "a column vector (n) and a row vector"),
        ({"f": "tr(" + "*".join(["X"] * 100) + ")"}, 200, "the gradient by X would have about"),
        ({"f": "x'*y", "kind": "laplacian"}, 400, "unknown kind 'laplacian'"),
        ({"f": "  "}, 400, "type a formula"),
        ({"f": "x'*y", "wrt": "z"}, 200, "the formula does not use 'z'"),
        ({"f": "__import__('os').system('true')"}, 200, "expected a name, a number or '(', found '_'"),
    ],
)
def test_bounds_and_bad_input(client, query, status, message):
    answer = client.get("/api/derive", query_string=query)
    assert answer.status_code == status
    data = answer.get_json()
    assert data["ok"] is False
    assert message in data["error"]


def test_size_bound_of_the_formula():
    small = create_app(bounds=Bounds(max_nodes=20), timeout=30).test_client()
    data = small.get("/api/derive", query_string={"f": " + ".join(f"exp(x{k})" for k in range(30))}).get_json()
    assert not data["ok"] and "nodes; the limit is 20" in data["error"]


def test_time_bound():
    # size bounds wide open, so that only the time bound stops this Hessian
    slow = create_app(bounds=Bounds(max_derivative_nodes=10**9), timeout=3).test_client()
    start = time.monotonic()
    formula = "sum(exp(" + "*".join(["X"] * 40) + "))"
    data = slow.get("/api/derive", query_string={"f": formula, "kind": "hessian"}).get_json()
    assert time.monotonic() - start < 12
    assert not data["ok"] and "took longer than 3 seconds" in data["error"]
    assert slow.get("/api/derive", query_string={"f": "x'*y"}).get_json()["ok"]  # and it still answers


def test_loopback_by_default():
    assert inspect.signature(web.serve).parameters["host"].default == "127.0.0.1"
    assert cli._parser().parse_args(["serve"]).host == "127.0.0.1"


def test_very_long_chain_is_a_clear_message(client):
    data = client.get("/api/derive", query_string={"f": "+".join(["x"] * 999)}).get_json()
    assert not data["ok"]
    assert "too many operators in one chain" in data["error"] or "nodes; the limit is" in data["error"]


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "dask"])
def test_the_code_of_each_backend(client, backend):
    query = {"f": "norm2(A*x - b)^2", "decl": "A: matrix m×n", "wrt": "x, A", "code": backend}
    data = client.get("/api/derive", query_string=query).get_json()
    assert data["ok"], data
    code = data["code"]
    assert code["backend"] == backend and "error" not in code
    f = parse_formula("norm2(A*x - b)^2", "A: matrix m×n")
    values = random_values(f)  # the code is written for the sizes of the check's values
    assert code["sizes"] == {"m": values["A"].shape[0], "n": values["A"].shape[1]}
    source = code["source"]
    assert f"2 results on {backend}, generated by tnet.compile" in source
    compiled = compile(source, "<exported>", "exec")
    if backend != "numpy":
        return
    namespace: dict = {}
    exec(compiled, namespace)
    function = namespace["gradient_x_A"]
    A, x, b = values["A"], values["x"], values["b"]
    got = function(**{"A": A, "x": x, "b": b})
    np.testing.assert_allclose(got[0], 2 * A.T @ (A @ x - b))
    np.testing.assert_allclose(got[1], 2 * np.outer(A @ x - b, x))


def test_the_code_defaults_to_numpy_and_rejects_an_unknown_backend(client):
    data = client.get("/api/derive", query_string={"f": "x'*y"}).get_json()
    assert data["code"]["backend"] == "numpy" and "results on numpy" in data["code"]["source"]
    answer = client.get("/api/derive", query_string={"f": "x'*y", "code": "os.system"})
    assert answer.status_code == 400
    assert "unknown backend 'os.system' for the code" in answer.get_json()["error"]

"""tnet.compile: every backend gives the values of tnet's interpreter (`tnet.evaluate` module's
`evaluate`, which walks the expressions itself; float64, 1e-12 relative) on the gallery's
expressions and on random expressions and their gradients; the exported source runs where tnet
is not installed; bad input gets a clear error. (`tnet.evaluate` itself compiles and runs.)"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

import tnet
from gallery.examples import load_entries
from tnet.compiler import export

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
da = pytest.importorskip("dask.array")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
#: the interpreter, the reference the compiled code is checked against
interpret = importlib.import_module("tnet.evaluate").evaluate

BACKENDS = ["numpy", "torch", "jax", "dask"]

_spec = importlib.util.spec_from_file_location("_grad_properties", Path(__file__).parent / "test_grad_properties.py")
assert _spec is not None and _spec.loader is not None
props = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(props)


def to_backend(backend, value):
    value = np.asarray(value, dtype=float)
    if backend == "torch":
        return torch.tensor(value)
    if backend == "jax":
        return jnp.asarray(value)
    if backend == "dask":
        return da.from_array(value, chunks=2 if value.ndim else ())
    return value


def to_numpy(backend, value):
    if backend == "torch":
        return value.numpy()
    if backend == "dask":
        return value.compute()
    return np.asarray(value)


def assert_same(got, want, rtol=1e-12, what=""):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, what
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    assert np.allclose(got, want, rtol=rtol, atol=rtol * scale, equal_nan=True), what


def run(exprs, env, backend):
    compiled = tnet.compile(exprs, backend)
    names = set(compiled.variables) | {v.name for e in exprs for v in e.derived_from}
    args = {k: to_backend(backend, v) for k, v in env.items() if k in names}
    return [to_numpy(backend, v) for v in compiled(args)]


def _gallery_cases():
    for entry in load_entries():
        if entry.slow:
            continue
        yield pytest.param(entry, id=entry.slug)


@pytest.mark.parametrize("entry", list(_gallery_cases()))
def test_every_backend_gives_evaluates_values_on_the_gallery(entry):
    outcome = entry.derive()
    exprs = [e for _, e in outcome.results]
    env = {v.name: a for v, a in outcome.arrays.items()}
    want = interpret(exprs, env, allow_unknown=True)
    for backend in BACKENDS:
        got = run(exprs, env, backend)
        for (label, _), g, w in zip(outcome.results, got, want):
            assert_same(g, w, what=f"{backend}: {label}")


def test_the_exported_sources_of_the_gallery_pass_the_linter(tmp_path):
    """Every backend's module for every gallery example: no unused or missing import, no
    undefined name, imports sorted (ruff's pyflakes, pycodestyle and isort rules)."""
    for entry in _gallery_cases():
        outcome = entry.values[0].derive()
        exprs = [e for _, e in outcome.results]
        for backend in BACKENDS:
            sizes = {
                s: a.shape[k] for v, a in outcome.arrays.items() for k, s in enumerate(v.shape) if isinstance(s, str)
            }
            source = tnet.compile(exprs, backend, sizes=sizes).source
            (tmp_path / f"{entry.id.replace('-', '_')}_{backend}.py").write_text(source)
    rules = ["--select", "E,F,W,I", "--ignore", "E501"]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", *rules, "--output-format", "concise", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@given(props.with_target(("s", "v", "m"), depth=4), props.SEEDS)
def test_every_backend_gives_evaluates_values_on_random_gradients(f_var, seed):
    f, var = f_var
    exprs = [f, tnet.grad(f, var), tnet.simplify(tnet.grad(f, var))]
    env = props.bindings_from(seed)
    want = interpret(exprs, env, allow_unknown=True)
    for backend in BACKENDS:
        for g, w in zip(run(exprs, env, backend), want):
            assert_same(g, w, what=backend)


def mlp(N="N", d=6, L=4):
    X, Y = tnet.Variable("X", N, d), tnet.Variable("Y", N, d)
    Ws = [tnet.Variable(f"W{j}", d, d) for j in range(1, L + 1)]
    bs = [tnet.Variable(f"b{j}", d) for j in range(1, L + 1)]
    Z = X
    for W, b in zip(Ws, bs):
        Z = tnet.tanh(Z @ W + b)
    J = 0.5 * tnet.sum((Z - Y) * (Z - Y))
    return J, Ws + bs


def mlp_arrays(N=10, d=6, L=4, seed=0):
    rng = np.random.default_rng(seed)
    env = {"X": rng.normal(size=(N, d)), "Y": rng.normal(size=(N, d))}
    for j in range(1, L + 1):
        env[f"W{j}"] = rng.normal(size=(d, d)) / np.sqrt(d)
        env[f"b{j}"] = 0.1 * rng.normal(size=d)
    return env


def test_the_exported_source_runs_without_tnet(run_without_tnet):
    J, params = mlp()
    grads = tnet.simplify(tnet.grad(J, params))
    env = mlp_arrays()
    compiled = tnet.compile(grads, sizes={"N": 10}, name="mlp_gradients")
    got = run_without_tnet(compiled.source, "mlp_gradients", env, compiled.parameters)
    want = interpret(grads, env)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, w)


def test_separately_and_jointly_simplified_lists_compile_to_the_same_work():
    J, params = mlp(N=8)
    separately = [tnet.simplify(g) for g in tnet.grad(J, params)]
    jointly = tnet.simplify(tnet.grad(J, params))
    env = mlp_arrays(N=8)
    want = interpret(jointly, env)
    products = []
    for exprs in (separately, jointly):
        compiled = tnet.compile(exprs, sizes={"N": 8})
        for g, w in zip(compiled(env), want):
            assert_same(g, w)
        steps = compiled._current().program.steps
        products.append(sum(op.kind in ("matmul", "mul", "rowdot") for op in steps))
    # the products the separate simplifications inlined are found and computed once
    assert products[0] == products[1], products


def test_the_source_frees_buffers_and_plan_reports_flops():
    J, params = mlp(N=8)
    compiled = tnet.compile(tnet.simplify(tnet.grad(J, params)), sizes={"N": 8})
    source = compiled.source
    assert "import numpy as np" in source and "tnet" not in source.replace("tnet.compile", "")
    assert " @ " in source and "\n    del " in source
    report = str(compiled.plan)
    assert "FLOPs" in report and "largest intermediate" in report


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("with_sigmoid", [False, True])
def test_the_source_imports_only_what_it_uses(backend, with_sigmoid):
    """Each import line of the exported module binds a name the code uses (jax's sigmoid is
    jax.nn.sigmoid, which needs `import jax` beside `jax.numpy`; dask's matrix inverse needs
    numpy), and the module runs where only those are imported."""
    x, A = tnet.Variable("x", 3), tnet.Variable("A", 3, 3)
    f = tnet.sigmoid(A @ x) if with_sigmoid else tnet.tanh(A @ x)
    exprs = [f, tnet.inv(A)] if backend == "dask" and with_sigmoid else [f]
    compiled = tnet.compile(exprs, backend)
    source = compiled.source
    imports = [line for line in source.splitlines() if line.startswith("import ")]
    assert imports
    for line in imports:
        words = line.split()
        name = words[-1] if "as" in words else words[1].split(".")[0]
        assert re.search(rf"\b{name}\.", source.split(line, 1)[1]), f"{line!r} unused in:\n{source}"
    if backend == "jax":
        assert ("import jax\n" in source) == with_sigmoid
    module: dict[str, object] = {}
    exec(source, module)  # a fresh namespace: only the module's own imports
    rng = np.random.default_rng(0)
    env = {"x": rng.normal(size=3), "A": np.eye(3) + 0.1 * rng.normal(size=(3, 3))}
    got = module["compiled"](*[to_backend(backend, env[p]) for p in compiled.parameters])
    for g, w in zip(got, interpret(exprs, env)):
        assert_same(to_numpy(backend, g), w)


def test_torch_results_stay_on_the_inputs_device_and_dtype():
    J, params = mlp(N=5)
    compiled = tnet.compile(tnet.grad(J, params), "torch")
    env = {k: torch.tensor(v, dtype=torch.float32) for k, v in mlp_arrays(N=5).items()}
    out = compiled(env)
    assert all(v.dtype == torch.float32 and v.device == env["X"].device for v in out)


def test_jax_works_under_jit_and_vmap():
    J, params = mlp(N=5)
    grads = tnet.simplify(tnet.grad(J, params))
    compiled = tnet.compile(grads, "jax")
    env = mlp_arrays(N=5)
    jitted = jax.jit(lambda args: compiled(args))
    for g, w in zip(jitted({k: jnp.asarray(v) for k, v in env.items()}), interpret(grads, env)):
        assert_same(np.asarray(g), w)
    batch = {k: jnp.stack([jnp.asarray(v), 2 * jnp.asarray(v)]) for k, v in env.items()}
    vmapped = jax.vmap(lambda args: compiled(args))(batch)
    doubled = interpret(grads, {k: 2 * v for k, v in env.items()})
    for g, w in zip(vmapped, doubled):
        assert_same(np.asarray(g)[1], w)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_is_named(backend):
    x = tnet.Variable("x", "n")
    A = tnet.Variable("A", "n", 3)
    compiled = tnet.compile(A.T @ x, backend)
    ok = {"x": to_backend(backend, np.ones(4)), "A": to_backend(backend, np.ones((4, 3)))}
    with pytest.raises(tnet.BindingError, match="missing argument for variable 'A'"):
        compiled(x=ok["x"])
    with pytest.raises(tnet.BindingError, match="unknown variable 'B'"):
        compiled(ok, B=ok["x"])
    with pytest.raises(tnet.BindingError, match=r"'n' is 4 elsewhere but 5 on axis 0 of 'A'"):
        compiled(x=ok["x"], A=to_backend(backend, np.ones((5, 3))))
    with pytest.raises(tnet.BindingError, match=r"axis 1 of the variable has size 3 \(got 2\)"):
        compiled(x=ok["x"], A=to_backend(backend, np.ones((4, 2))))
    other = "torch" if backend != "torch" else "dask"
    with pytest.raises(tnet.BindingError, match=f"compiled for the {backend} backend"):
        compiled(x=to_backend(other, np.ones(4)), A=ok["A"])


def test_unknown_backend_and_unfixed_sizes():
    x = tnet.Variable("x", "n")
    with pytest.raises(tnet.CompileError, match="unknown backend 'tensorflow'; the backends are: numpy, torch"):
        tnet.compile(x @ x, "tensorflow")
    with pytest.raises(tnet.CompileError, match="size 'n' of 'x' is not fixed yet"):
        _ = tnet.compile(x @ x).source
    assert "(3,)" in tnet.compile(x @ x, sizes={"n": 3}).source


def test_a_users_function_runs_on_numpy_and_is_refused_by_name_elsewhere():
    cube = tnet.Function("cube_for_compile", lambda v: v**3, derivative=lambda v: 3 * v**2, replace=True)
    x = tnet.Variable("x", 3)
    e = tnet.sum(tnet.apply(cube, x))
    xv = np.array([1.0, 2.0, -1.5])
    assert_same(tnet.compile(tnet.grad(e, x))(x=xv), 3 * xv**2)
    assert "not standalone" in tnet.compile(e).source
    with pytest.raises(
        tnet.CompileError, match="torch backend has no implementation of the function 'cube_for_compile'"
    ):
        tnet.compile(e, "torch")


def dask_backprop(X, Y, Ws, bs):
    """The sec. 6.2 net's gradients written by hand (the tests' mlp: no regularizer) on dask."""
    Zs = [X]
    for W, b in zip(Ws, bs):
        Zs.append(da.tanh(Zs[-1] @ W + b))
    gW, gb = [], []
    gZ = Zs[-1] - Y
    for j in range(len(Ws), 0, -1):
        S = gZ * (1 - Zs[j] ** 2)
        gW.insert(0, Zs[j - 1].T @ S)
        gb.insert(0, S.sum(axis=0))
        gZ = S @ Ws[j - 1].T
    return gW + gb


def test_dask_gradients_of_more_rows_than_fit_a_workers_memory_limit():
    """2·10⁶ rows: X and Y take 256 MB and the activations 512 MB more, on one worker limited to
    768 MiB. The chunks stream through; the peak memory the worker reports stays under the limit."""
    distributed = pytest.importorskip("distributed")
    from distributed.diagnostics import MemorySampler

    N, d, chunk, limit = 2_000_000, 8, 200_000, 3 * 2**28
    J, params = mlp(d=d)
    compiled = tnet.compile(tnet.simplify(tnet.grad(J, params)), "dask")
    env = mlp_arrays(d=d)
    rng = da.random.default_rng(0)
    args = {k: da.from_array(v) for k, v in env.items() if k not in ("X", "Y")}
    args["X"] = rng.normal(size=(N, d), chunks=(chunk, d))
    args["Y"] = rng.normal(size=(N, d), chunks=(chunk, d))
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, memory_limit=limit, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        sampler = MemorySampler()
        with sampler.sample("gradients", client=client, interval=0.1):
            got = client.gather(client.compute(compiled(args)))
        Ws = [args[f"W{j}"] for j in range(1, 5)]
        bs = [args[f"b{j}"] for j in range(1, 5)]
        want = client.gather(client.compute(dask_backprop(args["X"], args["Y"], Ws, bs)))
    peak = max(m for _, m in sampler.samples["gradients"])
    assert peak < limit, f"peak {peak / 2**20:.0f} MiB"
    for g, w in zip(got, want):
        assert_same(g, w, rtol=1e-9)


def test_torch_code_is_captured_whole_by_torch_compile():
    """fullgraph=True: dynamo captures the generated function with no graph break (the "eager"
    backend runs the captured graph as is, so the test does not wait for inductor's codegen)."""
    J, params = mlp(N=5)
    grads = tnet.simplify(tnet.grad(J, params))
    compiled = tnet.compile(grads, "torch")
    env = mlp_arrays(N=5)
    targs = {k: torch.tensor(v) for k, v in env.items()}
    fn = torch.compile(compiled.function, backend="eager", fullgraph=True)
    got = fn(*[targs[name] for name in compiled.parameters])
    for g, w in zip(got, interpret(grads, env)):
        assert_same(g.numpy(), w)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_variable_named_like_a_module_or_builtin_is_renamed(backend):
    """A variable named np, torch, new or sum would shadow what the generated code uses."""
    names = ["np", "torch", "new", "sum"]
    xs = [tnet.Variable(n, 3) for n in names]
    e = tnet.exp(xs[0]) * xs[1] + xs[2] * xs[3]
    lib = pytest.importorskip(backend)
    compiled = tnet.compile(e, backend)
    rng = np.random.default_rng(0)
    env = {n: rng.normal(size=3) for n in names}
    args = env if backend == "numpy" else {n: lib.from_numpy(v) for n, v in env.items()}
    got = np.asarray(compiled(args))
    np.testing.assert_allclose(got, np.exp(env["np"]) * env["torch"] + env["new"] * env["sum"])
    header = next(line for line in compiled.source.splitlines() if line.startswith("def "))
    assert all(f"v_{n}" in header for n in names)


def test_export_is_the_source_compile_shows():
    A, x = tnet.Variable("A", "n", "n"), tnet.Variable("x", "n")
    grads = tnet.simplify(tnet.grad(x @ A @ x, [x, A]))
    for backend in ("numpy", "torch", "jax", "dask"):
        source = export(grads, backend, sizes={"n": 3}, name="g")
        assert f"2 results on {backend}" in source and "def g(" in source
        if importlib.util.find_spec(backend) is not None and backend in ("numpy", "torch"):
            assert source == tnet.compile(grads, backend, sizes={"n": 3}, name="g").source
    with pytest.raises(tnet.CompileError, match="size 'n' of"):
        export(grads, "numpy")
    with pytest.raises(tnet.CompileError, match="unknown backend 'cuda'"):
        export(grads, "cuda", sizes={"n": 3})


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_results_never_alias_the_inputs_or_each_other(backend):
    """Writable backends: a result that is an input, a view of one, a value listed twice, a
    broadcast constant or what a user's function returned is copied (decided when the code is
    generated); other results are returned as computed."""
    A = tnet.Variable("A", 2, 3)
    same = tnet.Function("same_array", lambda x: x, register=False)
    exprs = [A, A.T, A, 2 * A, 2 * A, tnet.Ones(2, 3), tnet.apply(same, A)]
    if backend == "torch":  # torch cannot run a user's numpy function
        exprs = exprs[:-1]
    a = to_backend(backend, np.arange(6.0).reshape(2, 3))
    results = tnet.compile(exprs, backend)(A=a)
    for k, r in enumerate(results):
        r[...] = -1.0 - k  # every result can be written to, and writing changes nothing else
    assert np.array_equal(np.asarray(a), np.arange(6.0).reshape(2, 3))
    for k, r in enumerate(results):
        assert (np.asarray(r) == -1.0 - k).all()


def test_a_repeated_call_is_checked_again_when_its_arguments_change():
    """The call that repeats the last one's names, types and shapes skips the checks; any
    change (a new key in the same dict, another shape, another type) is checked in full."""
    x = tnet.Variable("x", "n")
    f = tnet.compile(tnet.sum(x * x))
    env = {"x": np.arange(3.0)}
    assert f(env) == 5.0
    env["x"] = np.arange(4.0)
    assert f(env) == 14.0
    env["y"] = np.zeros(2)
    with pytest.raises(tnet.BindingError, match="unknown variable 'y'"):
        f(env)
    del env["y"]
    with pytest.raises(tnet.BindingError, match="torch"):
        tnet.compile(tnet.sum(x * x), "torch")(x=np.arange(3.0))
    assert f(x=[1.0, 2.0]) == 5.0  # a list is converted, as on the first call


def test_the_torch_and_jax_prologue_is_written_only_where_a_step_uses_it():
    A = tnet.Variable("A", 2, 2)
    for backend, line in (("torch", "new = dict("), ("jax", "dtype = jnp.result_type")):
        assert line not in tnet.compile(A + A.T, backend, sizes={}).source
        with_ones = tnet.compile(A + tnet.Ones(2, 2) + tnet.Delta(2, 2), backend).source
        assert line in with_ones


def test_torch_inputs_of_mixed_dtypes_are_cast_to_their_common_dtype():
    """torch's products refuse a long and a double operand: code for mixed dtypes casts the
    inputs to their common dtype first (as numpy would promote them); a call with other dtypes
    than the last gets the code for its own."""
    A, x = tnet.Variable("A", 3, 3), tnet.Variable("x", 3)
    f = tnet.compile([A @ x, x @ A @ x], "torch")
    Av, xv = np.arange(9).reshape(3, 3), np.array([0.5, 0.25, 0.125])
    want = [Av @ xv, xv @ Av @ xv]
    for a, v in [
        (torch.tensor(Av), torch.tensor(xv)),  # long and double
        (torch.tensor(Av, dtype=torch.float32), torch.tensor(xv)),  # float and double
        (torch.tensor(Av, dtype=torch.float64), torch.tensor(xv)),  # one dtype: no casts
        (torch.tensor(Av), torch.tensor(xv)),  # mixed again, after the fast path's call
    ]:
        got = f(A=a, x=v)
        assert all(g.dtype == torch.float64 for g in got)
        assert all(np.allclose(g.numpy(), w, rtol=1e-12) for g, w in zip(got, want))
    assert "common = _common_dtype(" in f.source  # the code of the last call


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_a_structured_variables_argument_is_checked_on_every_call(backend):
    """As evaluate does: the array bound to a symmetric variable must be symmetric (its
    gradient is a gradient on symmetric matrices), on the first call and on every later one;
    under jax.jit there are no values to check."""
    X = tnet.Variable("X", 3, 3, symmetric=True)
    f = tnet.compile(tnet.grad(tnet.sum(X * X), X), backend)
    a = np.arange(9.0).reshape(3, 3)
    good = np.asarray(f(X=to_backend(backend, a + a.T)))
    assert np.allclose(good, 2 * (a + a.T))
    with pytest.raises(tnet.BindingError, match=r"symmetric variable .X. is not symmetric: entry \(0, 2\)"):
        f(X=to_backend(backend, a))


def test_a_sum_of_thousands_of_terms_compiles():
    """A linear combination is written as a balanced tree of halves: 5,000 terms nest about
    a dozen levels deep, not 5,000 (Python's compiler would raise RecursionError)."""
    vs = [tnet.Variable(f"v{k}", 2) for k in range(5000)]
    total = vs[0]
    for k, v in enumerate(vs[1:], start=1):
        total = total + (k % 3 - 1.5) * v
    env = {f"v{k}": np.full(2, float(k)) for k in range(5000)}
    want = sum((k % 3 - 1.5) * k for k in range(1, 5000))
    for backend in ("numpy", "torch"):
        args = {k: to_backend(backend, v) for k, v in env.items()}
        assert np.allclose(np.asarray(tnet.compile(total, backend)(args)), want)
    with pytest.raises(tnet.BindingError, match=r"v1000, v1001, .*, \.\.\. and 4980 more$"):
        tnet.compile(total)({**env, "w": np.zeros(2)})  # an error names 20 variables, not 5,000


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_constant_array_of_one_value_is_written_as_a_scalar_where_it_broadcasts(backend):
    """1 - s, where s has the full shape, is written with a scalar (`1.0 - s`, or `1 - s` on
    torch and jax: no array of ones is made), and takes s's dtype as the libraries treat Python
    numbers; a sum of constants alone keeps its full shape."""
    x = tnet.Variable("x", 3)
    s = tnet.sigmoid(x)
    e = s * (tnet.Ones(3) - s)
    source = tnet.compile(e, backend).source
    scalar = "= 1  #" if backend in ("torch", "jax") else "= 1.0  #"  # see Backend.integral_scalars
    assert "broadcast_to(1.0" not in source and "torch.ones" not in source and scalar in source
    compiled = tnet.compile([e, tnet.Ones(3) + tnet.Ones(3) * 2.0], backend)
    xv = np.array([-1.0, 0.5, 2.0])
    got, constant = compiled(x=to_backend(backend, xv))
    sig = 1 / (1 + np.exp(-xv))
    assert_same(to_numpy(backend, got), sig * (1 - sig))
    assert_same(to_numpy(backend, constant), np.full(3, 3.0))
    if backend in ("numpy", "torch"):
        x32 = xv.astype(np.float32) if backend == "numpy" else torch.tensor(xv, dtype=torch.float32)
        assert str(compiled(x=x32)[0].dtype).endswith("float32")
    # an integer array: numpy's code promotes it as a float array of ones did, torch's keeps
    # it integer as a tensor of ones in the inputs' dtype did
    minus = tnet.compile(tnet.Ones(3) - x, backend)
    if backend == "numpy":
        out = minus(x=np.array([1, 2, 3]))
        assert out.dtype == np.float64 and out.tolist() == [0.0, -1.0, -2.0]
    if backend == "torch":
        out = minus(x=torch.tensor([1, 2, 3]))
        assert out.dtype == torch.int64 and out.tolist() == [0, -1, -2]


def test_a_repeated_call_with_another_name_of_the_same_count_is_checked():
    x, y = tnet.Variable("x", 2), tnet.Variable("y", 2)
    f = tnet.compile(tnet.sum(x * y))
    assert f(x=np.ones(2), y=np.ones(2)) == 2.0
    with pytest.raises(tnet.BindingError, match="unknown variable 'z'"):
        f(x=np.ones(2), z=np.ones(2))


def test_torch_adds_a_bias_to_a_matrix_product_in_the_same_call():
    """c_1 (A B) + c_2 C is one torch.addmm call (its beta and alpha), with the same values."""
    X, b = tnet.Variable("X", 5, 3), tnet.Variable("b", 4)
    W, V = tnet.Variable("W", 3, 4), tnet.Variable("V", 3, 4)
    exprs = [tnet.tanh(X @ W + b), 2.0 * (X @ V) - tnet.Ones(5, 4) * b, (X @ W) * (X @ V)]
    source = tnet.compile(exprs[:2], "torch").source
    assert "torch.addmm(" in source and "beta=-1, alpha=2" in source and "torch.matmul" not in source
    assert "torch.addmm(" not in tnet.compile(exprs[1:], "torch").source  # X V is used twice there
    rng = np.random.default_rng(0)
    env = {"X": rng.normal(size=(5, 3)), "W": rng.normal(size=(3, 4)), "V": rng.normal(size=(3, 4))}
    env["b"] = rng.normal(size=4)
    for got, want in zip(run(exprs, env, "torch"), run(exprs, env, "numpy")):
        assert_same(got, want)
    # a fractional coefficient is not fused: addmm would truncate it on integer tensors
    half = tnet.compile(2.5 * (X @ V) - tnet.Ones(5, 4) * b, "torch")
    assert "torch.addmm(" not in half.source
    ints = {k: torch.tensor(np.round(3 * v).astype(np.int64)) for k, v in env.items() if k in ("X", "V", "b")}
    want = 2.5 * (ints["X"] @ ints["V"]) - ints["b"]
    assert torch.equal(half(ints), want)


def test_a_backprop_factor_is_made_where_the_backward_pass_uses_it():
    """1 - tanh(z)^2 of the first layer, written in walk order next to tanh(z), is made after
    the forward pass (the last tanh): it is not held from the forward pass on."""
    X = tnet.Variable("X", "N", 4)
    Ws = [tnet.Variable(f"W{k}", 4, 4) for k in range(3)]
    Z = X
    for W in Ws:
        Z = tnet.tanh(Z @ W)
    grads = tnet.simplify(tnet.grad(tnet.sum(Z * Z), Ws))
    lines = tnet.compile(grads, sizes={"N": 8}).source.splitlines()
    tanhs = [k for k, line in enumerate(lines) if "np.tanh(" in line]
    squares = [k for k, line in enumerate(lines) if "** 2" in line]
    assert len(tanhs) == 3 and len(squares) == 3 and min(squares) > max(tanhs)


def test_the_gradients_of_a_deep_net_hold_few_batch_sized_arrays_at_once():
    """Scheduled as backprop is written (the forward activations, then per layer the backward
    step with its weight and bias gradients), the code holds the L activations and a few
    temporaries of N rows at once, not also every layer's backprop factor and error."""
    L, N = 6, 64
    X = tnet.Variable("X", N, 8)
    Ws, bs = [tnet.Variable(f"W{k}", 8, 8) for k in range(L)], [tnet.Variable(f"b{k}", 8) for k in range(L)]
    Z = X
    for W, b in zip(Ws, bs):
        Z = tnet.tanh(Z @ W + b)
    grads = tnet.simplify(tnet.grad(tnet.sum(Z * Z), Ws + bs))
    program = tnet.compile(grads)._current().program
    alive: set[str] = set()
    peak = 0
    for op, free in zip(program.steps, program.free):
        if op.kind != "input" and op.shape[:1] == (N,) and op.kind not in ("transpose", "reshape"):
            alive.add(op.out)
        peak = max(peak, len(alive))
        alive -= set(free)
    assert peak <= L + 3, peak


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_a_matrix_times_a_vector_takes_the_vector_itself(backend):
    """X w and v X are matmul calls on the vectors, with no reshape to a column or row and
    back; the values are numpy's."""
    X, w, v = tnet.Variable("X", 5, 3), tnet.Variable("w", 3), tnet.Variable("v", 5)
    exprs = [X @ w, v @ X, tnet.sum(tnet.exp(X @ w))]
    assert ".reshape(" not in tnet.compile(exprs, backend).source
    rng = np.random.default_rng(0)
    env = {"X": rng.normal(size=(5, 3)), "w": rng.normal(size=3), "v": rng.normal(size=5)}
    want = [env["X"] @ env["w"], env["v"] @ env["X"], np.exp(env["X"] @ env["w"]).sum()]
    for got, value in zip(run(exprs, env, backend), want):
        assert_same(got, value)

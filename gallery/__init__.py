"""The gallery: every example of the paper built with tnet, drawn, and checked against the
paper's closed form in numpy.

A tool of the repository, not part of the installed package: run it from the checkout, with
tnet installed (`make` does `pip install -e .`), as `python -m gallery --out DIR`. It writes
DIR/README.md, DIR/svg/ and the self-contained page DIR/site/index.html; `make gallery` runs
it with `--out gallery`, which rewrites the committed gallery in this folder. It draws with
`tnet.render`."""

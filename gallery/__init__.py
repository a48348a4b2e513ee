"""The gallery: every example of the paper built with tnet, drawn, and checked against the
paper's closed form in numpy. `python -m gallery` (or `make gallery`) writes gallery/README.md,
gallery/svg/ and the self-contained page gallery/site/index.html."""

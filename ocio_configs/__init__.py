"""The shipped OCIO config (``config.ocio``), installed as ``hdrpipe.ocio_configs``.

The folder sits at the top of the checkout; the wheel and an editable install map it
to this package, so ``importlib.resources.files("hdrpipe.ocio_configs")`` finds the
same file either way. See README.md beside this file.
"""

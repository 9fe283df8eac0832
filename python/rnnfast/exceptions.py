"""Exceptions raised by rnnfast.

Every problem with an argument is a :class:`ValueError` (or :class:`TypeError` for a wrong type),
so code written for NumPy or scikit-learn catches them as usual; all rnnfast-specific classes also
derive from :class:`RnnfastError`.

>>> import rnnfast
>>> issubclass(rnnfast.ShapeError, ValueError)
True
"""

__all__ = [
    "EncodingError",
    "NonFiniteError",
    "NumericalError",
    "ParameterError",
    "RnnfastError",
    "ShapeError",
]


class RnnfastError(Exception):
    """Base class of the errors rnnfast raises itself."""


class ShapeError(RnnfastError, ValueError):
    """An array has the wrong number of dimensions, shape or length."""


class ParameterError(RnnfastError, ValueError):
    """A hyper-parameter or option is outside its domain, or a parameter set is incomplete."""


class NonFiniteError(RnnfastError, ValueError):
    """An input or weight contains NaN or infinity."""


class NumericalError(RnnfastError, ArithmeticError):
    """A computation broke down numerically, such as a training run whose loss diverged."""


class EncodingError(RnnfastError, ValueError):
    """States hold values outside their encoding: binary ``{0, 1}`` or bipolar ``{-1, +1}``."""

from .__about__ import __version__
from .check import CloudtrailCheck

__all__ = ['__version__', 'CloudtrailCheck']

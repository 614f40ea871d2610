"""Payment authorization: the sample module that is ready for production."""

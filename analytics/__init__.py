"""Analyses per use case over stored readings (pandas). Pure functions of data frames: the API
fetches the data through `store.queries`, analytics turns it into answers."""

"""ipywidgets dashboards, one module per widget.

Each widget keeps its state and callbacks in a plain Python object that tests drive
headlessly (set a control's ``.value``, read the result); drawing goes into an
``ipywidgets.Output``. Anything that trains waits for a button.
"""

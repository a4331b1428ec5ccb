"""The desktop client: a presenter that decides, and views (Tk, terminal) that only draw.

``presenter.py`` never imports tkinter; ``tk_view.py`` is the only module that does.
"""

"""What a window manager does when the person clicks a window's X button, or clicks away
from the window.

Xvfb runs no window manager, so these tests play its part, over an X connection of their own
(Xlib through ctypes: the X server stands between it and Tk, as between a real window manager
and Tk):

- :func:`ask_to_close` sends the window a ``WM_PROTOCOLS`` client message that names
  ``WM_DELETE_WINDOW``, as a window manager does for the X button; Tk then runs the window's
  ``WM_DELETE_WINDOW`` handler as it would on a desktop.
- :func:`focus_the_desktop` gives the keyboard focus to the screen's root window, as when the
  person clicks on the desktop: the window gets a real ``FocusOut``. (Another Tk window of the
  same test process would not do: Tk windows in one process share their X connection, and
  Tk moves the focus between them without telling the window that lost it.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for type hints: without tkinter the GUI tests skip, see conftest
    import tkinter

CLIENT_MESSAGE = 33
"""The ``ClientMessage`` event type (X.h)."""
NO_EVENT_MASK = 0
"""With no mask, ``XSendEvent`` delivers to the client that created the window."""
CURRENT_TIME = 0
REVERT_TO_PARENT = 2


class _ClientMessageEvent(ctypes.Structure):
    """Xlib's ``XClientMessageEvent``, with its data as five longs (format 32)."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    )


class _XEvent(ctypes.Union):
    """Xlib's ``XEvent``: any event, padded to 24 longs."""

    _fields_ = (("xclient", _ClientMessageEvent), ("pad", ctypes.c_long * 24))


def _xlib() -> ctypes.CDLL:
    name = ctypes.util.find_library("X11")
    if name is None:
        raise RuntimeError("libX11 is not installed")
    xlib = ctypes.CDLL(name)
    xlib.XOpenDisplay.argtypes = (ctypes.c_char_p,)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XInternAtom.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XSendEvent.argtypes = (
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.POINTER(_XEvent),
    )
    xlib.XSendEvent.restype = ctypes.c_int
    xlib.XDefaultRootWindow.argtypes = (ctypes.c_void_p,)
    xlib.XDefaultRootWindow.restype = ctypes.c_ulong
    xlib.XSetInputFocus.argtypes = (ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_ulong)
    xlib.XFlush.argtypes = (ctypes.c_void_p,)
    xlib.XCloseDisplay.argtypes = (ctypes.c_void_p,)
    return xlib


@contextmanager
def _x_connection() -> Iterator[tuple[ctypes.CDLL, int]]:
    """Xlib and a connection of our own to the display the tests use; flushed and closed
    on the way out."""
    xlib = _xlib()
    display = xlib.XOpenDisplay(os.environ["DISPLAY"].encode())
    if not display:
        raise RuntimeError(f"cannot open the X display {os.environ['DISPLAY']}")
    try:
        yield xlib, display
        xlib.XFlush(display)
    finally:
        xlib.XCloseDisplay(display)


def ask_to_close(window: tkinter.Wm) -> None:
    """Ask ``window`` (a toplevel) to close, as a window manager does for its X button."""
    with _x_connection() as (xlib, display):
        target = int(window.wm_frame(), 16)
        event = _XEvent()
        message = event.xclient
        message.type = CLIENT_MESSAGE
        message.window = target
        message.message_type = xlib.XInternAtom(display, b"WM_PROTOCOLS", False)
        message.format = 32
        message.data[0] = xlib.XInternAtom(display, b"WM_DELETE_WINDOW", False)
        message.data[1] = CURRENT_TIME
        if not xlib.XSendEvent(display, target, False, NO_EVENT_MASK, ctypes.byref(event)):
            raise RuntimeError("the X server refused the WM_DELETE_WINDOW message")


def focus_the_desktop() -> None:
    """Move the keyboard focus away from every window, to the screen's root window."""
    with _x_connection() as (xlib, display):
        root = xlib.XDefaultRootWindow(display)
        xlib.XSetInputFocus(display, root, REVERT_TO_PARENT, CURRENT_TIME)

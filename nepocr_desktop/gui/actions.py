"""The main window's actions and menus: what each does, its shortcut, its icon and its place."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QIcon, QKeySequence

from .ink import Edit
from .style import icon
from .write_view import HandedOn

if TYPE_CHECKING:
    from .main_window import MainWindow


def add_action(window: MainWindow, name: str, text: str, shortcuts: list[str] | QKeySequence.StandardKey,
               slot: Callable[..., object], icon_name: str | None = None, tip: str = "") -> QAction:
    """An action of ``window``, kept in ``window.actions[name]``; its tooltip names its shortcut."""
    action = QAction(icon(icon_name) if icon_name else QIcon(), text, window)
    if isinstance(shortcuts, QKeySequence.StandardKey):
        action.setShortcuts(shortcuts)
    else:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip or text.replace('&', '').rstrip('…')} ({keys})" if keys else tip)
    action.triggered.connect(slot)
    window.addAction(action)
    window.actions[name] = action
    return action


def make_actions(w: MainWindow) -> None:
    """Every action of the window: the menus, the toolbars and the shortcuts share them."""

    def a(*args, **kwargs) -> QAction:
        return add_action(w, *args, **kwargs)

    a("open", "&Open image…", ["Ctrl+O"], w.open_image, "open", "Open an image file")
    a("paste", "&Paste image", ["Ctrl+V"], w.paste_image, "paste", "Paste an image")
    a("export_page", "&Export page text…", ["Ctrl+E"], w.export_page, None,
      "Save the page's text as plain text, JSON or PAGE XML")
    a("load_model", "Load &model…", ["Ctrl+Shift+O"], w.choose_model)
    a("save", "&Save sample", ["Ctrl+S"], w.save_sample, "save",
      "Save the image with the corrected text as a training sample")
    a("quit", "&Quit", ["Ctrl+Q"], w.close)
    a("undo", "&Undo stroke", ["Ctrl+Z"], lambda: w.write.canvas.undo(), "undo", "Undo")
    a("redo", "&Redo stroke", ["Ctrl+Shift+Z", "Ctrl+Y"], lambda: w.write.canvas.redo(), "redo", "Redo")
    for name, text in (("undo", "Undo"), ("redo", "Redo")):
        w.actions[name].setIconText(text)  # the text follows the step (step_text)
    a("clear", "C&lear drawing", ["Esc"], w.clear_drawing, "clear", "Clear the drawing")
    a("eraser", "Rub &out", ["Ctrl+Shift+E"], w.set_rubbing_out, "eraser",
      "Rub out: the left button, a finger or the pen's tip takes away the ink it goes over "
      "(the right button and the pen's eraser end always do)")
    w.actions["eraser"].setCheckable(True)
    a("copy", "&Copy text", ["Ctrl+Shift+C"], lambda: w.result.copy_text(), "copy")
    a("add_text", "&Add to your text", ["Ctrl+Return", "Ctrl+Enter"], w.add_to_text, None,
      "Put the word on the end of your text below the canvas, without saving it as a sample")
    a("edit_text", "Correct the &text", ["F2"], w.edit_text, None,
      "Put the cursor in the correction field (on a page: the next word to check)")
    a("recognize", "&Read now", ["Ctrl+R", "F5"], w.recognize_now, "recognize", "Read the writing now")
    a("thinner", "&Thinner pen", ["Ctrl+["], lambda: w.step_pen(-0.5))
    a("thicker", "T&hicker pen", ["Ctrl+]"], lambda: w.step_pen(0.5))
    a("preferences", "Pr&eferences…", ["Ctrl+,"], w.edit_preferences, "settings")
    a("zoom_in", "Zoom &in", ["Ctrl++", "Ctrl+="], lambda: w.importer.view.zoom_in(), "zoom-in")
    a("zoom_out", "Zoom &out", ["Ctrl+-"], lambda: w.importer.view.zoom_out(), "zoom-out")
    a("zoom_fit", "&Fit to window", ["Ctrl+0"], lambda: w.importer.view.fit(), "zoom-fit")
    a("zoom_actual", "&Actual size", ["Ctrl+Alt+0"], lambda: w.importer.view.actual_size())
    a("palette", "Devanagari &letters", ["Ctrl+K"], w.toggle_palette, "keyboard",
      "Show or hide the Devanagari letters")
    w.actions["palette"].setCheckable(True)
    a("tab_write", "&Write", ["Ctrl+1"], lambda: w.tabs.setCurrentWidget(w.write), "pen")
    a("tab_import", "&Import", ["Ctrl+2"], lambda: w.tabs.setCurrentWidget(w.importer), "open")
    a("tab_learn", "&Learn", ["Ctrl+3"], lambda: w.tabs.setCurrentIndex(w.learn_index))
    a("shortcuts", "&Keyboard shortcuts", ["F1"], w.show_shortcuts, "help")
    a("about", "&About nepocr", ["Shift+F1"], w.show_about, "info")


def make_menus(window: MainWindow) -> None:
    """The menu bar, from the window's actions."""
    bar = window.menuBar()
    groups = {
        "&File": ["open", "paste", None, "save", "export_page", None, "load_model", None, "quit"],
        "&Edit": ["undo", "redo", "clear", "eraser", None, "copy", "add_text", "edit_text", "recognize", None,
                  "thinner", "thicker", None, "preferences"],
        "&View": ["tab_write", "tab_import", "tab_learn", None, "zoom_in", "zoom_out", "zoom_fit", "zoom_actual",
                  None, "palette"],
        "&Help": ["shortcuts", "about"],
    }
    window.menus = {}
    for title, names in groups.items():
        menu = bar.addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(window.actions[name])
        window.menus[title.replace("&", "")] = menu


def step_text(verb: str, edit: Edit | None) -> str:
    """The Undo or Redo action's text for the canvas's next step back or forward."""
    if edit is None or edit.kind == "add":
        return f"&{verb} stroke"
    if edit.kind == "erase":
        return f"&{verb} rubbing out"
    if isinstance(edit.mark, HandedOn):
        return f"&{verb} save" if edit.mark.sample_id is not None else f"&{verb} adding to your text"
    return f"&{verb} clear"

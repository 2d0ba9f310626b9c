"""The desktop app: main window, drawing canvas, image view, result panel and workers."""

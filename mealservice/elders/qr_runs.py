"""A card's QR code as horizontal runs of dark modules, made in printing's worker
processes. Kept apart from printing, with no import of the app, so the worker processes'
server starts in a fraction of a second instead of importing the whole service."""

import qrcode


def qr_runs(payload: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR code's size in modules and its dark modules as horizontal runs
    (row, first column, length): one rectangle each to draw instead of one a module."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for row, modules in enumerate(matrix):
        column = 0
        width = len(modules)
        while column < width:
            if modules[column]:
                start = column
                while column < width and modules[column]:
                    column += 1
                runs.append((row, start, column - start))
            else:
                column += 1
    return len(matrix), runs


def qr_runs_of_chunk(payloads: list[str]) -> list[tuple[int, list[tuple[int, int, int]]]]:
    return [qr_runs(payload) for payload in payloads]

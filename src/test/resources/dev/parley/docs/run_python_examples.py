"""Runs a document's Python examples as one program, and fails unless every line of them ran.

    python3 run_python_examples.py DOCUMENT PROGRAM

PROGRAM holds the examples at their lines of DOCUMENT, blank lines between them (DocProgram), and runs under
the document's name: a traceback names the document's line and, run from the directory the name is relative
to, shows its text. A line that never ran shows the reader nothing it claims (an except clause whose error
did not come, a loop over nothing), so it fails the run as an error would: exit 1, each such line named.
"""
import sys
import traceback
import types


def lines_of(code: types.CodeType) -> set[int]:
    """The lines code (and the functions, lambdas and comprehensions in it) has instructions on."""
    lines = {line for _, _, line in code.co_lines() if line}
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            lines |= lines_of(constant)
    return lines


def run(document: str, program: str) -> set[int]:
    """Runs the program; answers the lines that ran."""
    with open(program, encoding="utf-8") as source:
        code = compile(source.read(), document, "exec")
    ran: set[int] = set()

    def trace(frame: types.FrameType, event: str, _):
        if frame.f_code.co_filename != document:
            return None  # the client's own lines are not the document's
        if event == "line":
            ran.add(frame.f_lineno)
        return trace

    sys.settrace(trace)
    try:
        exec(code, {"__name__": "__main__"})
    except Exception as error:
        sys.settrace(None)
        print_from(document, error)
        sys.exit(1)
    sys.settrace(None)
    return lines_of(code) - ran


def print_from(document: str, error: Exception) -> None:
    """The traceback from the document's first frame on: this runner's frames tell the reader nothing."""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename != document:
        frames = frames.tb_next
    traceback.print_exception(type(error), error, frames)


if __name__ == "__main__":
    document, program = sys.argv[1:3]
    never = sorted(run(document, program))
    for line in never:
        print(f"{document}:{line}: this line never ran", file=sys.stderr)
    sys.exit(1 if never else 0)

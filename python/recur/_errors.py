"""RecurError: one subclass per recur_status, carrying recur_status_string()."""


class RecurError(RuntimeError):
    """A recur call returned a status other than RECUR_OK."""
    status = None

    def __init__(self, status, message):
        super().__init__(f'{message} (recur_status {status})')
        self.status = status
        self.message = message


class NullPointerError(RecurError):
    status = 1


class InvalidSizeError(RecurError):
    status = 2


class SizeOverflowError(RecurError):
    status = 3


class InvalidArgumentError(RecurError):
    status = 4


class OutOfMemoryError(RecurError):
    status = 5


class UnsupportedIsaError(RecurError):
    status = 6


class WorkspaceTooSmallError(RecurError):
    status = 7


class WorkspaceMismatchError(RecurError):
    status = 8


class UnsupportedError(RecurError):
    status = 9


class CommunicationError(RecurError):
    status = 10


_BY_STATUS = {c.status: c for c in (NullPointerError, InvalidSizeError, SizeOverflowError,
                                    InvalidArgumentError, OutOfMemoryError, UnsupportedIsaError,
                                    WorkspaceTooSmallError, WorkspaceMismatchError,
                                    UnsupportedError, CommunicationError)}


def error_class(status):
    return _BY_STATUS.get(status, RecurError)

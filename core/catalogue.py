"""What every catalogue object of an ISP shares: carriers, dial plans, service plans,
customers, SMBCs, security groups, verified domains.

Lookups that answer NOT_FOUND for another ISP's object (exactly as for a missing one)
and NOT_PERMITTED for a read-only role, unique names, the audit record of a change,
refusing to delete what tenants use, and ordering a parent's children.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import case, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, select

from core import audit, scoping, validation
from core.errors import DomainError, ErrorCode, ErrorCollector, not_found
from core.models import Tenant
from core.ownership import managed_isp, require_manager
from core.viewer import Viewer

T = TypeVar("T", bound=SQLModel)


def managed_object(session: Session, viewer: Viewer, model: type[T], object_id: uuid.UUID | None,
                   what: str, field: str = "id") -> T:
    """An object of the ISP's catalogue that the viewer may change.

    Out of the viewer's scope answers like missing; a read-only role is NOT_PERMITTED.
    """
    row: Any = scoping.get_visible(session, viewer, model, object_id)
    if row is None:
        raise not_found(what, field)
    require_manager(viewer, row.isp_id)
    return row


def record(session: Session, viewer: Viewer, verb: str, row: Any, isp_id: uuid.UUID,
           changes: dict[str, Any] | None = None) -> None:
    """Audit a change to ``row`` as ``<table>.<verb>``, e.g. gateway.create."""
    audit.record(session, viewer, action=f"{row.__tablename__}.{verb}",
                 object_type=type(row).__name__, object_id=row.id, isp_id=isp_id,
                 changes=changes)


def _what(model: Any) -> str:
    return str(model.__tablename__).replace("_", " ")


def require_free_name(session: Session, model: Any, name: str, taken: str, *,
                      within: tuple[Any, uuid.UUID] | None = None,
                      exclude_id: uuid.UUID | None = None) -> None:
    """Refuse a name another row of ``model`` has, within ``within`` ((column, id): the
    ISP's, the tenant's) when given: people pick plans, carriers and groups by name.

    ``taken`` is the message; ``exclude_id`` the row being renamed.
    """
    clash = select(model.id).where(model.name == name, model.id != exclude_id)
    if within is not None:
        clash = clash.where(within[0] == within[1])
    if session.exec(clash).first() is not None:
        raise DomainError.single(ErrorCode.ALREADY_EXISTS, taken, "name")


def _require_free_name(session: Session, model: Any, isp_id: uuid.UUID, name: str,
                       exclude_id: uuid.UUID | None = None) -> None:
    require_free_name(session, model, name,
                      f"this ISP already has a {_what(model)} named {name!r}",
                      within=(model.isp_id, isp_id), exclude_id=exclude_id)


def _refuse_while_tenants_use(session: Session, used_by: Any, row: Any) -> None:
    """Tenants reference catalogue objects; deleting one in use would break their calls."""
    shown = 5
    names = session.exec(
        select(Tenant.name).where(used_by == row.id).order_by(Tenant.name).limit(shown + 1)
    ).all()
    if names:
        what = _what(type(row))
        listed = ", ".join(names[:shown]) + (" and others" if len(names) > shown else "")
        raise DomainError.single(
            ErrorCode.IN_USE, f"this {what} is used by tenants {listed}; "
            f"give them another {what} first", "id")


def _named_values(name: str | None, description: str | None) -> dict[str, Any]:
    errors = ErrorCollector()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = errors.check(validation.bounded_text, name, ("name",),
                                      max_length=200, required=True)
    if description is not None:
        values["description"] = errors.check(validation.bounded_text, description,
                                             ("description",), max_length=500)
    errors.raise_if_any()
    return values


def create_named(session: Session, viewer: Viewer, model: type[T], isp_id: uuid.UUID | None,
                 *, name: str, description: str) -> T:
    """A new named object (a carrier, a dial plan) of the ISP the viewer manages."""
    isp = managed_isp(session, viewer, isp_id)
    values = _named_values(name, description)
    _require_free_name(session, model, isp.id, values["name"])
    row = model(isp_id=isp.id, **values)
    session.add(row)
    session.flush()
    record(session, viewer, "create", row, isp.id, values)
    return row


def update_named(session: Session, viewer: Viewer, model: type[T], object_id: uuid.UUID, *,
                 name: str | None, description: str | None) -> T:
    """Change the name and description given (None: unchanged)."""
    row: Any = managed_object(session, viewer, model, object_id, _what(model))
    changes = {key: value for key, value in _named_values(name, description).items()
               if value != getattr(row, key)}
    if "name" in changes:
        _require_free_name(session, model, row.isp_id, changes["name"], exclude_id=row.id)
    if changes:
        row.sqlmodel_update(changes)
        session.add(row)
        record(session, viewer, "update", row, row.isp_id, changes)
    return row


def delete_named(session: Session, viewer: Viewer, model: type[T], object_id: uuid.UUID, *,
                 used_by: Any) -> T:
    """Delete a named object unless tenants use it (``used_by``: their column naming it)."""
    row: Any = managed_object(session, viewer, model, object_id, _what(model))
    _refuse_while_tenants_use(session, used_by, row)
    session.delete(row)
    record(session, viewer, "delete", row, row.isp_id, {"name": row.name})
    return row


@dataclass(frozen=True)
class OrderedChildren(Generic[T]):
    """A parent's children (a carrier's gateways...) numbered 0..n-1, unique per parent.

    A change renumbers every child in two statements: first all move above the
    highest number in use, then each takes its final number. No statement ever
    needs two children to share a number, which the unique constraint (checked
    row by row on PostgreSQL and SQLite alike) would refuse. Changes lock the
    parent's row first, so that concurrent ones queue up.
    """

    parent_model: type[SQLModel]
    parent: Any  # the children's column referencing the parent
    number: Any  # the children's order column, also the input field naming a place

    def managed(self, session: Session, viewer: Viewer, child_id: uuid.UUID,
                what: str) -> tuple[T, Any]:
        """A child the viewer may change, and its parent (see :func:`managed_object`)."""
        child: Any = scoping.get_visible(session, viewer, self.parent.class_, child_id)
        if child is None:
            raise not_found(what, "id")
        parent: Any = session.get(self.parent_model, self._parent_id(child))
        require_manager(viewer, parent.isp_id)
        return child, parent

    def children(self, session: Session, parent_id: uuid.UUID) -> list[T]:
        model = self.parent.class_
        return list(session.exec(select(model).where(self.parent == parent_id)
                                 .order_by(self.number)))

    def insert(self, session: Session, row: T, place: int | None) -> int:
        """Add ``row`` at ``place`` (None: last); returns its place."""
        children = self._locked_children(session, row)
        place = len(children) if place is None else place
        self._check_place(place, len(children))
        setattr(row, self.number.key, self._next_number(children))
        session.add(row)
        session.flush()
        self._write(session, row, self._moved([*children, row], row, place))
        return place

    def move(self, session: Session, row: T, place: int) -> None:
        children = self._locked_children(session, row)
        self._check_place(place, len(children) - 1)
        self._write(session, row, self._moved(children, row, place))

    def remove(self, session: Session, row: T) -> None:
        """Delete ``row``; the children after it move up one place."""
        children = self._locked_children(session, row)
        session.delete(row)
        session.flush()
        self._write(session, row, [child for child in children if child is not row])

    def reorder(self, session: Session, parent_id: uuid.UUID,
                ids: Sequence[uuid.UUID | None], what: str, field: str) -> list[T]:
        """Put the children in the order of ``ids``, which must name each of them once."""
        children = self._locked_children(session, parent_id)
        by_id: dict[Any, T] = {child.id: child for child in children}  # type: ignore[attr-defined]
        if len(ids) != len(by_id) or set(ids) != set(by_id):
            raise DomainError.single(
                ErrorCode.INVALID, f"list each of the {len(by_id)} {what} exactly once", field)
        ordered = [by_id[object_id] for object_id in ids]
        self._write(session, parent_id, ordered)
        return ordered

    def _parent_id(self, row_or_parent_id: T | uuid.UUID) -> uuid.UUID:
        if isinstance(row_or_parent_id, uuid.UUID):
            return row_or_parent_id
        return getattr(row_or_parent_id, self.parent.key)

    def _locked_children(self, session: Session, row_or_parent_id: T | uuid.UUID) -> list[T]:
        parent_id = self._parent_id(row_or_parent_id)
        parent_key: Any = self.parent_model.id  # type: ignore[attr-defined]
        session.exec(select(parent_key).where(parent_key == parent_id).with_for_update()).first()
        return self.children(session, parent_id)

    def _next_number(self, children: Sequence[T]) -> int:
        return max((getattr(row, self.number.key) for row in children), default=-1) + 1

    def _check_place(self, place: int, last: int) -> None:
        if not 0 <= place <= last:
            field = self.number.key
            raise DomainError.single(ErrorCode.INVALID, f"{field} must be between 0 and {last}",
                                     field)

    @staticmethod
    def _moved(children: Sequence[T], row: T, place: int) -> list[T]:
        others = [child for child in children if child is not row]
        return [*others[:place], row, *others[place:]]

    def _write(self, session: Session, row_or_parent_id: T | uuid.UUID,
               ordered: Sequence[T]) -> None:
        """Number ``ordered``, every child of the parent, 0..n-1 in that order."""
        key = self.number.key
        if [getattr(row, key) for row in ordered] == list(range(len(ordered))):
            return
        model, parent_id = self.parent.class_, self._parent_id(row_or_parent_id)
        above = self._next_number(ordered)
        session.flush()
        session.exec(update(model).where(self.parent == parent_id)
                     .values({key: self.number + above})
                     .execution_options(synchronize_session=False))
        # row.id: SQLModel's base class declares no id; every ordered model has one.
        final = case(*((model.id == row.id, place)  # type: ignore[attr-defined]
                       for place, row in enumerate(ordered)))
        session.exec(update(model).where(self.parent == parent_id).values({key: final})
                     .execution_options(synchronize_session=False))
        for place, row in enumerate(ordered):
            set_committed_value(row, key, place)

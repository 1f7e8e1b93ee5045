"""Administration pages: technicians and their on-call shifts.

Views parse the form, call app/services/dispatch/technicians.py and render; a refused input
gives the form back with the error next to its field and changes nothing.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.domain.timeutil import JST, utcnow
from app.errors import AppError, InvalidInput
from app.services.dispatch import technicians as service
from app.web.admin import bp
from app.web.admin.forms import ShiftForm, TechnicianForm
from app.web.formutil import attach_error

PAGE_SIZE = 100
FORM_REFUSED = 400


@bp.get("/")
def home():
    """The administration start page is the technician list."""
    return redirect(url_for("admin.technicians"))


@bp.get("/technicians")
def technicians():
    """Technicians with what they serve and whether they are on call now."""
    after = request.args.get("after", type=int)
    try:
        rows = service.list_technicians(current_user, after_id=after, limit=PAGE_SIZE + 1)
    except InvalidInput as exc:  # an id no row can have
        abort(400, exc.message)
    page = rows[:PAGE_SIZE]
    on_call = service.current_shifts([t.id for t in page], utcnow())
    return render_template("admin/technicians.html", technicians=page, on_call=on_call,
                           next_after=page[-1].id if len(rows) > PAGE_SIZE else None)


def _fields(form):
    return {name: form[name].data for name in service.FIELDS}


def _technician_page(form, technician=None):
    status = FORM_REFUSED if request.method == "POST" else 200
    return render_template("admin/technician_form.html", form=form,
                           technician=technician), status


@bp.route("/technicians/new", methods=["GET", "POST"])
def new_technician():
    """Add a technician."""
    form = TechnicianForm()
    if form.validate_on_submit():
        try:
            technician = service.create_technician(current_user, _fields(form))
        except AppError as exc:
            attach_error(form, exc)
        else:
            flash(_("Technician %(name)s added.", name=technician.name), "success")
            return redirect(url_for("admin.shifts", technician_id=technician.id))
    return _technician_page(form)


@bp.route("/technicians/<int:technician_id>", methods=["GET", "POST"])
def edit_technician(technician_id):
    """Change a technician's details."""
    technician = service.get_technician(current_user, technician_id)
    form = TechnicianForm(obj=technician if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            service.update_technician(technician.id, current_user, _fields(form))
        except AppError as exc:
            attach_error(form, exc)
        else:
            flash(_("Technician %(name)s saved.", name=technician.name), "success")
            return redirect(url_for("admin.technicians"))
    return _technician_page(form, technician)


def _shifts_page(technician, form, status=200):
    now = utcnow()
    return render_template(
        "admin/shifts.html", technician=technician, form=form,
        shifts=service.upcoming_shifts(current_user, technician.id, since=now),
        on_call=service.current_shifts([technician.id], now).get(technician.id)), status


@bp.get("/technicians/<int:technician_id>/shifts")
def shifts(technician_id):
    """A technician's current and upcoming shifts in Japan time, and a form to add one."""
    technician = service.get_technician(current_user, technician_id)
    return _shifts_page(technician, ShiftForm(formdata=None))


@bp.post("/technicians/<int:technician_id>/shifts")
def add_shift(technician_id):
    """Add a shift; the form's times are Japan time and are stored in UTC."""
    technician = service.get_technician(current_user, technician_id)
    form = ShiftForm()
    if form.validate():
        try:
            service.add_shift(technician.id, current_user,
                              form.starts_at.data.replace(tzinfo=JST),
                              form.ends_at.data.replace(tzinfo=JST), form.note.data or "")
        except AppError as exc:
            attach_error(form, exc)
        else:
            flash(_("Shift added."), "success")
            return redirect(url_for("admin.shifts", technician_id=technician.id))
    return _shifts_page(technician, form, FORM_REFUSED)


@bp.post("/shifts/<int:shift_id>/delete")
def delete_shift(shift_id):
    """Remove a shift; CSRFProtect has refused the post already if its token was missing."""
    technician_id = service.delete_shift(shift_id, current_user)
    flash(_("Shift removed."), "success")
    return redirect(url_for("admin.shifts", technician_id=technician_id))

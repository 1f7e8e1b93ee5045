"""Administration of customer organizations and their caller-ID phone numbers (admin only).

Views parse the form, call app/services/directory/organizations.py and render; a refused input gives
the page back with the error next to its field (or above the form) and changes nothing.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import permission_required
from app.errors import AppError
from app.services.directory import organizations as service
from app.web.admin import bp
from app.web.admin.organization_forms import OrganizationForm, PhoneForm, RemovePhoneForm
from app.web.formutil import attach_error

PAGE_SIZE = 50
FORM_REFUSED = 422


def _submit(form, save):
    """(save(), None) for a valid form the service accepts; else (None, status to answer)."""
    if not form.validate_on_submit():
        return None, FORM_REFUSED
    try:
        return save(), None
    except AppError as exc:
        attach_error(form, exc)
        return None, exc.status


@bp.get("/organizations")
@permission_required("organizations.manage")
def organizations():
    """Organizations by code, searched by code or name, a page at a time."""
    search = request.args.get("q", "")
    try:
        found = service.search_organizations(current_user, search,
                                             request.args.get("page", 1, type=int), PAGE_SIZE)
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.organizations"))
    return render_template("admin/organizations.html", found=found, search=search.strip())


def _form_page(form, status=200):
    return render_template("admin/organization_form.html", organization=None, form=form), status


@bp.route("/organizations/new", methods=["GET", "POST"])
@permission_required("organizations.manage")
def new_organization():
    """Add an organization; its phone numbers are added on its page next."""
    form = OrganizationForm()
    if request.method == "GET":
        return _form_page(form)
    organization, status = _submit(form, lambda: service.create_organization(
        current_user, form.fields()))
    if status:
        return _form_page(form, status)
    flash(_("Organization %(code)s added. Add its phone numbers below.",
            code=organization.code), "success")
    return redirect(url_for("admin.organization", organization_id=organization.id))


def _organization_page(organization, form=None, phone_form=None, status=200):
    return render_template(
        "admin/organization_form.html", organization=organization,
        form=form or OrganizationForm(formdata=None, obj=organization),
        phone_form=phone_form or PhoneForm(formdata=None), phones=service.phones_of(organization),
        users=service.list_users(current_user, organization.id)), status


@bp.route("/organizations/<int:organization_id>", methods=["GET", "POST"])
@permission_required("organizations.manage")
def organization(organization_id):
    """An organization's details form, its phone numbers, its users and its contracts."""
    item = service.get_organization(current_user, organization_id)
    if request.method == "GET":
        return _organization_page(item)
    form = OrganizationForm()
    saved, status = _submit(form, lambda: service.update_organization(
        item.id, current_user, form.fields()))
    if status:
        return _organization_page(item, form=form, status=status)
    flash(_("Organization %(code)s saved.", code=saved.code), "success")
    return redirect(url_for("admin.organization", organization_id=item.id))


@bp.post("/organizations/<int:organization_id>/phones")
@permission_required("organizations.manage")
def add_organization_phone(organization_id):
    """Register one more caller-ID number (a number of another organization is refused)."""
    item = service.get_organization(current_user, organization_id)
    form = PhoneForm()
    phone, status = _submit(form, lambda: service.add_phone(
        item.id, current_user, form.phone.data, form.label.data or ""))
    if status:
        return _organization_page(item, phone_form=form, status=status)
    flash(_("%(number)s registered.", number=phone.number), "success")
    return redirect(url_for("admin.organization", organization_id=item.id))


@bp.post("/organizations/<int:organization_id>/phones/remove")
@permission_required("organizations.manage")
def remove_organization_phone(organization_id):
    """Unregister one of the organization's numbers (another's is a 404)."""
    item = service.get_organization(current_user, organization_id)
    form = RemovePhoneForm()
    if not form.validate():
        flash(_("Choose the phone number to remove."), "error")
        return redirect(url_for("admin.organization", organization_id=item.id))
    number = service.remove_phone(item.id, form.phone_id.data, current_user)
    flash(_("%(number)s removed.", number=number), "success")
    return redirect(url_for("admin.organization", organization_id=item.id))

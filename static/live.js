/* Live console pages, without reloading them (loaded by templates/base.html).

   1. The screen pop: while a call rings at the desk number, every console page of a staff
      user shows the caller (organization, contract, open incidents, or "unknown number").
      The fragment /desk/live/calls is polled every few seconds with its ETag: an unchanged
      answer is an empty 304.
   2. Live lists: an element with data-live-list (the board's cards, the desk list's rows)
      is refreshed from the same page every data-live-seconds. Only rows (children with
      data-reference) whose markup changed are replaced; a row being typed into is left
      alone until the next round. Without JavaScript the board reloads by a meta refresh
      inside <noscript>. */
(function () {
  "use strict";

  var script = document.currentScript;

  function later(task, seconds) {
    window.setTimeout(task, seconds * 1000);
  }

  function get(url, headers) {
    // No redirect is followed: an expired session must not put the login page in a list.
    return window.fetch(url, {credentials: "same-origin", cache: "no-store",
                              redirect: "manual", headers: headers || {}});
  }

  // ------------------------------------------------------------ the screen pop

  function startScreenPop(url, seconds) {
    var pop = document.createElement("aside");
    pop.id = "screen-pop";
    pop.setAttribute("aria-live", "assertive");
    pop.hidden = true;
    document.body.appendChild(pop);
    var etag = null;

    function poll() {
      get(url, etag ? {"If-None-Match": etag} : {}).then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401 ||
            response.status === 403) {
          return false;  // logged out or not allowed: stop asking
        }
        if (response.status === 200) {
          etag = response.headers.get("ETag");
          return response.text().then(function (html) {
            pop.innerHTML = html;
            pop.hidden = !pop.querySelector("[data-call]");
            return true;
          });
        }
        return true;  // 304: nothing changed; 5xx: ask again later
      }, function () { return true; }).then(function (again) {
        if (again) { later(poll, seconds); }
      });
    }
    poll();
  }

  // ------------------------------------------------------------ live lists

  function rowsOf(list) {
    return Array.prototype.filter.call(list.children, function (row) {
      return row.hasAttribute("data-reference");
    });
  }

  function keysOf(list) {
    return Array.prototype.map.call(list.children, function (row) {
      return row.getAttribute("data-reference") || "";
    }).join("\n");
  }

  // A row's markup without the CSRF tokens, which differ on every page load.
  function comparable(row) {
    var copy = row.cloneNode(true);
    copy.querySelectorAll("input[name=csrf_token]").forEach(function (input) {
      input.removeAttribute("value");
    });
    return copy.outerHTML;
  }

  function dirty(field) {
    if (field.type === "hidden") { return false; }
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.tagName === "SELECT") {
      return Array.prototype.some.call(field.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    return field.value !== field.defaultValue;
  }

  // Someone is using this part of the page: replacing it would lose what they typed.
  function busy(element) {
    var active = document.activeElement;
    if (active && active !== document.body && element.contains(active)) { return true; }
    return Array.prototype.some.call(
      element.querySelectorAll("input, select, textarea"), dirty);
  }

  // Counters on the list (data-live-rounds, data-live-updated) that show the updates work.
  function bump(list, counter) {
    list.dataset[counter] = String(Number(list.dataset[counter] || 0) + 1);
  }

  function reconcile(list, fresh) {
    if (keysOf(list) !== keysOf(fresh)) {  // rows came, went or moved: the list anew
      if (!busy(list)) {
        list.innerHTML = fresh.innerHTML;
        bump(list, "liveUpdated");
      }
      return;
    }
    var freshRows = rowsOf(fresh);
    rowsOf(list).forEach(function (row, index) {
      var replacement = freshRows[index];
      if (comparable(row) !== comparable(replacement) && !busy(row)) {
        row.replaceWith(document.importNode(replacement, true));
        bump(list, "liveUpdated");
      }
    });
  }

  function startLiveList(list) {
    var seconds = Number(list.dataset.liveSeconds) || 15;

    function poll() {
      get(window.location.href).then(function (response) {
        if (response.status !== 200) { return response.type !== "opaqueredirect"; }
        return response.text().then(function (html) {
          var page = new window.DOMParser().parseFromString(html, "text/html");
          var fresh = page.getElementById(list.id);
          if (fresh) { reconcile(list, fresh); }
          bump(list, "liveRounds");
          return true;
        });
      }, function () { return true; }).then(function (again) {
        if (again) { later(poll, seconds); }
      });
    }
    later(poll, seconds);
  }

  if (script && script.dataset.popUrl) {
    startScreenPop(script.dataset.popUrl, Number(script.dataset.popSeconds) || 5);
  }
  document.querySelectorAll("[data-live-list][id]").forEach(startLiveList);
}());

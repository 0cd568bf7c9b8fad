/* The community's own page tracking, after /kizuna.js (both deferred, so in this order): a page
 * view on every page, and, for a logged-in member, identify once per browser session, so the
 * browser's anonymous id and the member's id meet in the identity graph. When nobody is logged in
 * but the tracker still remembers a member, it forgets them: the next person at a shared computer
 * is not taken for the last one. Pages work the same without it. */
(function (w, d) {
  "use strict";
  var k = w.kizuna;
  var me = d.currentScript;
  if (!k || !k.__kizuna || !me) return;
  var FLAG = "kizuna_identified";
  var member = me.getAttribute("data-member") || "";
  function get() { try { return w.sessionStorage.getItem(FLAG); } catch (e) { return null; } }
  function set(v) { try { if (v) w.sessionStorage.setItem(FLAG, v); else w.sessionStorage.removeItem(FLAG); } catch (e) { /* blocked */ } }
  if (member) {
    if (get() !== member) {
      k.identify(member);
      set(member);
    }
  } else if (k.user().userId) {
    k.reset();
    set("");
  }
  k.page();
})(window, document);

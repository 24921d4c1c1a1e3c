// Words the page shows from data (a mode, a state, a kind of change, a connection status), listed
// here so that makemessages finds them; the page looks them up with gettext at run time.
/* global gettext_noop */
export const WORDS = [
  gettext_noop("new-connection"), gettext_noop("keep-alive"), gettext_noop("pool"),
  gettext_noop("grpc"), gettext_noop("grpc-per-call"),
  gettext_noop("ready"), gettext_noop("not ready"), gettext_noop("terminating"),
  gettext_noop("added"), gettext_noop("removed"), gettext_noop("changed"),
  gettext_noop("Connecting to the dashboard…"), gettext_noop("Connected"),
  gettext_noop("Connection lost: reconnecting…"), gettext_noop("The dashboard refused this page's Service"),
  gettext_noop("interrupted"),
];

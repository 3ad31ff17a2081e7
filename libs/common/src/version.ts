/** The release version; `tctl status`, `teleport version` and the ping endpoint report it. Kept equal to package.json by a test. */
export const VERSION = '0.1.0';

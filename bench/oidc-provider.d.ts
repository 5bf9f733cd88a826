// node-oidc-provider ships no types; the benchmark uses a handful of its members.
declare module 'oidc-provider';

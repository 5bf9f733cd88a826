/**
 * Where the client's DPoP key pair lives. The private key is made
 * non-extractable: script on the page can sign with it while the page runs,
 * but can never read it out, so a stolen refresh token is useless elsewhere.
 * In browsers it is kept in IndexedDB (which stores the key object itself,
 * never its bytes), so tabs and reloads share one key and one session.
 */

/** Where a key pair is loaded from, or put when there is none yet. */
export interface DpopKeyStore {
  /** The stored pair, or `created` stored and returned when there was none (atomically: two tabs end with one key). */
  loadOrAdd(created: CryptoKeyPair): Promise<CryptoKeyPair>;
}

/** A P-256 pair whose private half cannot be exported. */
export function generateDpopKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/** This client's memory only: a reload starts over (and its session, bound to the lost key, must log in again). */
export function memoryKeyStore(): DpopKeyStore {
  let pair: CryptoKeyPair | null = null;
  return {
    async loadOrAdd(created) {
      pair ??= created;
      return pair;
    },
  };
}

const promised = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** One IndexedDB database of the origin, one entry: the key pair. */
export function indexedDbKeyStore(name = 'meridian-dpop', idb: IDBFactory = indexedDB): DpopKeyStore {
  const open = (): Promise<IDBDatabase> => {
    const request = idb.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore('keys');
    return promised(request);
  };
  return {
    async loadOrAdd(created) {
      const db = await open();
      try {
        // One readwrite transaction: a get and, if empty, an add, with no await in between, so it cannot interleave with another tab's.
        const store = db.transaction('keys', 'readwrite').objectStore('keys');
        return await new Promise<CryptoKeyPair>((resolve, reject) => {
          const get = store.get('pair');
          get.onerror = () => reject(get.error);
          get.onsuccess = () => {
            const existing = get.result as CryptoKeyPair | undefined;
            if (existing) return resolve(existing);
            const add = store.add(created, 'pair');
            add.onerror = () => reject(add.error);
            add.onsuccess = () => resolve(created);
          };
        });
      } finally {
        db.close();
      }
    },
  };
}

/** IndexedDB where the platform has it, else memory. */
export function defaultKeyStore(): DpopKeyStore {
  return typeof indexedDB === 'undefined' ? memoryKeyStore() : indexedDbKeyStore();
}

import type { ClaimHolder, ClaimRequest, UsernameClaim, UsernameClaims, UsernameDirectory } from '../auth/regions.js';
import type { UserStore } from '../auth/stores.js';
import type { PeerClient } from './peer-client.js';

/**
 * The username directory across regions. One region of the topology (the
 * directory) keeps a claim per username; every region claims a name there
 * before it registers a user under it, so the directory's primary key decides
 * between two regions registering one name at once. Logins of users unknown
 * locally ask it for the user's home region.
 */

/** Who holds a name. */
/** UsernameDirectory over a claims store, as every region of a topology uses it. */
export class RegionalDirectory implements UsernameDirectory {
  constructor(
    private readonly claims: UsernameClaims,
    private readonly users: UserStore,
  ) {}

  async claim(c: UsernameClaim): Promise<boolean> {
    const holder = await this.claims.claim(c);
    if (holder.userId === c.userId) return true;
    // A claim by this region for a name it has no user under is left over from a registration that
    // failed after claiming (a lost answer, a crash). This region may take it back; between its own
    // concurrent registrations, its users table's unique index decides.
    if (holder.homeRegion !== c.homeRegion || (await this.users.findByUsername(c.usernameNormalized))) return false;
    const after = await this.claims.claim({ ...c, takeOverFrom: holder.userId });
    return after.userId === c.userId;
  }

  async homeRegion(usernameNormalized: string): Promise<string | null> {
    return (await this.claims.find(usernameNormalized))?.homeRegion ?? null;
  }

  release(userId: string): Promise<void> {
    return this.claims.release(userId);
  }
}

/** Wire format of a claim holder on /internal/v1/usernames/*. */
export interface HolderBody {
  user_id: string;
  home_region: string;
}

const fromBody = (b: HolderBody): ClaimHolder => ({ userId: b.user_id, homeRegion: b.home_region });

/** The directory's claims, reached over HTTP from any other region. */
export class PeerUsernameClaims implements UsernameClaims {
  constructor(
    private readonly client: PeerClient,
    private readonly directory: string,
  ) {}

  async claim(c: ClaimRequest): Promise<ClaimHolder> {
    const body = { username_normalized: c.usernameNormalized, user_id: c.userId, home_region: c.homeRegion, take_over_from: c.takeOverFrom };
    const res = await this.client.request<HolderBody>(this.directory, '/internal/v1/usernames/claim', { operation: 'claim', body, internal: true });
    if (res.status !== 200) throw this.client.answerError(this.directory, res);
    return fromBody(res.body);
  }

  async find(usernameNormalized: string): Promise<ClaimHolder | null> {
    const res = await this.client.request<{ holder: HolderBody | null }>(this.directory, '/internal/v1/usernames/find', {
      operation: 'lookup',
      body: { username_normalized: usernameNormalized },
      internal: true,
    });
    if (res.status !== 200) throw this.client.answerError(this.directory, res);
    return res.body.holder ? fromBody(res.body.holder) : null;
  }

  async release(userId: string): Promise<void> {
    const res = await this.client.request(this.directory, '/internal/v1/usernames/release', {
      operation: 'release',
      body: { user_id: userId },
      internal: true,
    });
    if (res.status !== 204) throw this.client.answerError(this.directory, res);
  }
}

import type { ClaimHolder, ClaimRequest, UsernameClaims } from '../../auth/regions.js';
import type { Db } from './db.js';
import { SQL } from './sql.js';

interface HolderRow {
  user_id: string;
  home_region: string;
}

const holder = (row: HolderRow): ClaimHolder => ({ userId: row.user_id, homeRegion: row.home_region });

/** The username directory's table, at the directory region. */
export class PgUsernameClaims implements UsernameClaims {
  constructor(private readonly db: Db) {}

  async claim(c: ClaimRequest): Promise<ClaimHolder> {
    const r = await this.db.query<HolderRow>(SQL.claimUsername, [c.usernameNormalized, c.userId, c.homeRegion, new Date(c.now), c.takeOverFrom ?? null]);
    return holder(r.rows[0] as HolderRow);
  }

  async find(usernameNormalized: string): Promise<ClaimHolder | null> {
    const r = await this.db.query<HolderRow>(SQL.findUsernameClaim, [usernameNormalized]);
    return r.rows[0] ? holder(r.rows[0]) : null;
  }

  async release(userId: string): Promise<void> {
    await this.db.query(SQL.releaseUsernameClaim, [userId]);
  }
}

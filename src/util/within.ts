/**
 * Resolves to true when `p` settles successfully within `ms`, false when it
 * rejects or takes longer (it is not cancelled, only no longer waited for).
 * Health checks and metric samplers use it so that one slow dependency
 * cannot hold up the answer.
 */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

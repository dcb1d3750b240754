import { describe, expect, it } from 'vitest';
import { route, routePath } from '../src/router.js';

describe('route paths', () => {
  it('strips the prefixes, the query and the slashes CodeIgniter trims', () => {
    expect(routePath('/jobe/index.php/restapi/runs/')).toBe('restapi/runs');
    expect(routePath('/index.php/restapi/languages?x=1')).toBe('restapi/languages');
    expect(routePath('/restapi/files/abc#frag')).toBe('restapi/files/abc');
    expect(routePath('/jobe/index.phpx/restapi/runs')).toBe('jobe/index.phpx/restapi/runs');
    expect(routePath('/jobe/index.php/restapi/files/ab%63')).toBe('restapi/files/abc');
    expect(routePath('/restapi/files/%zz')).toBe('restapi/files/%zz');
    expect(routePath('http://jobe.example:8080/jobe/index.php/restapi/runs')).toBe('restapi/runs');
  });

  it('matches methods to routes like Jobe', () => {
    expect(route('GET', '/jobe/index.php/restapi/languages')).toEqual({ kind: 'languages' });
    expect(route('HEAD', '/jobe/index.php/restapi/languages')).toEqual({ kind: 'notFound' });
    expect(route('POST', '/restapi/runs/')).toEqual({ kind: 'runs' });
    expect(route('PUT', '/restapi/files/Ab12')).toEqual({ kind: 'putFile', fileId: 'Ab12' });
    expect(route('HEAD', '/restapi/files/Ab12/')).toEqual({ kind: 'headFile', fileId: 'Ab12' });
    expect(route('PUT', '/restapi/files/Ab-12')).toEqual({ kind: 'notFound' });
    expect(route('OPTIONS', '/whatever', true)).toEqual({ kind: 'options' });
    expect(route('OPTIONS', '/whatever')).toEqual({ kind: 'notFound' });
    expect(route('DELETE', '/restapi/files/Ab12')).toEqual({ kind: 'notFound' });
  });
});

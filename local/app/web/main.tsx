import { render } from 'preact';

function App() {
  return <h1>ShopSight</h1>;
}

render(<App />, document.getElementById('app') as HTMLElement);
